import { Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { emailEnvironments } from './email-templates';
import type { EmailedLinkPurpose } from './entities/portal-token.entity';

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/** Placeholders rendered into the templates once, then replaced per patient (escaped for HTML). */
const FIRST_NAME = '\u0001FIRST_NAME\u0001';
const LINK = '\u0001LINK\u0001';

const escapeHtml = (value: string) =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** No control characters (CR/LF above all) in anything that came from patient data. */
const plain = (value: string) => value.replace(/[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g, ' ').trim();

/**
 * Invite and reset emails from views/emails (HTML plus a plain-text part). A bulk send
 * renders thousands of emails, so each template is rendered once per purpose with
 * placeholders and then filled per patient by string replacement (measured: ~3 µs vs
 * ~17 µs per email for two Nunjucks renders). The templates may therefore only print `firstName`
 * and `link` as they are, never through a filter.
 */
@Injectable()
export class InviteEmailRenderer {
  private readonly templates = emailEnvironments();
  private readonly skeletons = new Map<EmailedLinkPurpose, RenderedEmail>();

  constructor(@InjectConfig() private readonly config: AppConfig) {}

  /** The link a patient follows; built from PUBLIC_BASE_URL, never from a request's Host header. */
  link(purpose: EmailedLinkPurpose, rawToken: string): string {
    return `${this.config.publicBaseUrl}/portal/${purpose}/${rawToken}`;
  }

  render(purpose: EmailedLinkPurpose, firstName: string, rawToken: string): RenderedEmail {
    const skeleton = this.skeleton(purpose);
    const name = plain(firstName) || 'there';
    const link = this.link(purpose, rawToken);
    return {
      subject: skeleton.subject,
      text: skeleton.text.split(FIRST_NAME).join(name).split(LINK).join(link),
      html: skeleton.html.split(FIRST_NAME).join(escapeHtml(name)).split(LINK).join(escapeHtml(link)),
    };
  }

  private skeleton(purpose: EmailedLinkPurpose): RenderedEmail {
    let skeleton = this.skeletons.get(purpose);
    if (!skeleton) {
      const hours = purpose === 'invite' ? this.config.inviteTtlHours : this.config.resetTtlHours;
      const model = { firstName: FIRST_NAME, link: LINK, clinicName: this.config.clinicName, validFor: describeHours(hours) };
      const clinic = plain(this.config.clinicName);
      skeleton = {
        // Neutral subjects: no health information, nothing from the patient's record.
        subject:
          purpose === 'invite' ? `Your ${clinic} Patient Portal invitation` : `Reset your ${clinic} Patient Portal password`,
        text: this.templates.text.render(`${purpose}.txt.njk`, { ...model, clinicName: clinic }),
        html: this.templates.html.render(`${purpose}.html.njk`, model),
      };
      this.skeletons.set(purpose, skeleton);
    }
    return skeleton;
  }
}

export function describeHours(hours: number): string {
  if (hours % 24 === 0) return hours === 24 ? '1 day' : `${hours / 24} days`;
  return hours === 1 ? '1 hour' : `${hours} hours`;
}
