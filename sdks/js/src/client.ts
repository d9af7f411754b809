import { HttpClient, type HeraldOptions, type RequestOptions } from "./http.js";
import type { CurrentKey } from "./models.js";
import { OPERATIONS } from "./operations.js";
import { EmailsResource, SmsResource, WhatsappResource } from "./resources.js";

/**
 * Herald's API client.
 *
 * ```ts
 * const herald = new Herald({ apiKey: "hk_…", baseUrl: "https://herald.example.com" });
 * const sms = await herald.sms.send({ to: "+2348067000111", body: "Your code is 123456", senderId: "Acme" });
 * ```
 */
export class Herald {
  readonly sms: SmsResource;
  readonly emails: EmailsResource;
  readonly whatsapp: WhatsappResource;
  readonly #http: HttpClient;

  constructor(options: HeraldOptions) {
    this.#http = new HttpClient(options);
    this.sms = new SmsResource(this.#http);
    this.emails = new EmailsResource(this.#http);
    this.whatsapp = new WhatsappResource(this.#http);
  }

  /** The API key presented: its name, prefix, scopes and organization. */
  key(options: RequestOptions = {}): Promise<CurrentKey> {
    return this.#http.call<CurrentKey>({ operation: OPERATIONS.getApiKey, signal: options.signal });
  }
}
