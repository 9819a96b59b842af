/*
 * Onboarding page behaviour that htmx attributes cannot express (CSP: no inline script,
 * no hx-on). Everything is delegated from document, so it keeps working after htmx
 * swaps the results table.
 */
(function () {
  'use strict';

  function rowBoxes() {
    return Array.prototype.slice.call(document.querySelectorAll('#results input.row-select'));
  }

  function updateCount() {
    var out = document.getElementById('selected-count');
    if (!out) return;
    var matching = document.getElementById('select-matching');
    var checked = rowBoxes().filter(function (box) { return box.checked; }).length;
    // Kept selection (after bulk Enable): patients selected but no longer in the list.
    var elsewhere = document.querySelectorAll('#bulk-form > input[type=hidden][name=ids]').length;
    var text = '';
    if (matching && matching.checked) text = 'All matching patients selected';
    else if (checked && elsewhere) text = (checked + elsewhere) + ' selected (' + elsewhere + ' not in this list)';
    else if (elsewhere) text = elsewhere + ' selected (not in this list)';
    else if (checked) text = checked + ' selected on this page';
    out.textContent = text;
  }

  document.addEventListener('change', function (event) {
    var target = event.target;
    if (!(target instanceof HTMLInputElement)) return;
    var page = document.getElementById('select-page');
    var matching = document.getElementById('select-matching');
    if (target.id === 'select-page') {
      rowBoxes().forEach(function (box) { box.checked = target.checked; });
      if (!target.checked && matching) matching.checked = false;
    } else if (target.id === 'select-matching') {
      // "All N matching" sends the filter, not ids; tick the visible rows so the screen agrees.
      if (target.checked) rowBoxes().forEach(function (box) { box.checked = true; });
      if (page) page.checked = target.checked;
    } else if (target.classList.contains('row-select')) {
      if (!target.checked && matching) matching.checked = false;
      if (page) page.checked = rowBoxes().every(function (box) { return box.checked; });
    } else {
      return;
    }
    updateCount();
  });

  // Close buttons of the bulk boxes.
  document.addEventListener('click', function (event) {
    var button = event.target instanceof Element ? event.target.closest('[data-dismiss]') : null;
    if (!button) return;
    var box = button.closest('[data-dismissable]');
    if (box) box.remove();
  });

  // A swapped row keeps its tick (enable, invite, and the row's own refresh while its email is queued).
  var ticked = {};
  document.addEventListener('htmx:beforeSwap', function (event) {
    var target = event.detail.target;
    if (!(target instanceof HTMLElement) || !target.classList.contains('onboarding-row')) return;
    var box = target.querySelector('input.row-select');
    if (box && box.checked) ticked[target.id] = true;
  });

  // Keyboard users keep their place: after a swap, focus moves to the control the new markup asks for.
  // preventScroll: in a narrow window the table scrolls sideways, and focusing the Action cell
  // would scroll the patient's name out of view.
  document.addEventListener('htmx:afterSettle', function (event) {
    Object.keys(ticked).forEach(function (id) {
      var box = document.querySelector('#' + id + ' input.row-select');
      if (box) box.checked = true;
      delete ticked[id];
    });
    // Screen readers hear what changed in a swapped row (its status, and the invite's delivery) once.
    // (the row is replaced, so it is found again by id; a poll that changed nothing says nothing).
    var old = event.detail.target;
    var swapped = old instanceof HTMLElement && old.id ? document.getElementById(old.id) : null;
    var announcer = document.getElementById('row-announcer');
    if (announcer && swapped && swapped.classList.contains('onboarding-row')) {
      var said = swapped.getAttribute('data-announce') || '';
      if (said !== announcer.textContent) announcer.textContent = said;
    }
    var next = document.querySelector('[data-focus-after-swap]');
    if (next) {
      next.removeAttribute('data-focus-after-swap');
      next.focus({ preventScroll: true });
    }
    // A bulk answer (result, confirmation, progress, error) is shown where the eye is: next to the buttons.
    var target = event.detail.target;
    if (target instanceof HTMLElement && target.id === 'bulk-area' && target.firstElementChild) {
      target.scrollIntoView({ block: 'nearest' });
    }
    updateCount();
  });
})();
