import type { Page } from 'playwright-core';

/** The few DOM shapes the page-side check uses (the test compiles without the DOM library). */
interface Box {
  right: number;
  width: number;
}
interface PageElement {
  tagName: string;
  className: string;
  closest(selector: string): PageElement | null;
  getBoundingClientRect(): Box;
}
declare const document: {
  documentElement: { clientWidth: number; scrollWidth: number };
  querySelectorAll(selector: string): ArrayLike<PageElement>;
};

/** How far the page scrolls sideways, and which elements outside a table cause it. */
export async function horizontalOverflow(page: Page): Promise<{ scroll: number; culprits: string[] }> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const culprits: string[] = [];
    for (const element of Array.from(document.querySelectorAll('body *'))) {
      if (element.closest('.table-scroll')) continue;
      const box = element.getBoundingClientRect();
      if (box.width > 0 && box.right > width + 1)
        culprits.push(`${element.tagName.toLowerCase()}.${element.className} → ${Math.round(box.right)}px`);
    }
    return { scroll: document.documentElement.scrollWidth - width, culprits: culprits.slice(0, 10) };
  });
}
