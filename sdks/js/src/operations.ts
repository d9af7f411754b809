/**
 * Every `/v1/public/*` operation the SDK calls, by the operationId of Herald's OpenAPI document.
 * The resources call the API only through this table; the drift test compares it with the document.
 */
export interface Operation {
  method: "GET" | "POST";
  path: string;
}

export const OPERATIONS = {
  getApiKey: { method: "GET", path: "/v1/public/key" },

  sendSms: { method: "POST", path: "/v1/public/sms/send" },
  sendSmsBatch: { method: "POST", path: "/v1/public/sms/batch" },
  listSms: { method: "GET", path: "/v1/public/sms" },
  getSms: { method: "GET", path: "/v1/public/sms/{id}" },
  getSmsTimeline: { method: "GET", path: "/v1/public/sms/{id}/timeline" },
  cancelSms: { method: "POST", path: "/v1/public/sms/{id}/cancel" },
  listSenderIds: { method: "GET", path: "/v1/public/sms/sender-ids" },

  sendEmail: { method: "POST", path: "/v1/public/emails/send" },
  sendEmailBatch: { method: "POST", path: "/v1/public/emails/batch" },
  listEmails: { method: "GET", path: "/v1/public/emails" },
  getEmail: { method: "GET", path: "/v1/public/emails/{id}" },
  getEmailTimeline: { method: "GET", path: "/v1/public/emails/{id}/timeline" },
  cancelEmail: { method: "POST", path: "/v1/public/emails/{id}/cancel" },
  getEmailStats: { method: "GET", path: "/v1/public/emails/stats" },

  sendWhatsapp: { method: "POST", path: "/v1/public/whatsapp/send" },
  sendWhatsappBatch: { method: "POST", path: "/v1/public/whatsapp/batch" },
  listWhatsapp: { method: "GET", path: "/v1/public/whatsapp" },
  getWhatsapp: { method: "GET", path: "/v1/public/whatsapp/{id}" },
  getWhatsappTimeline: { method: "GET", path: "/v1/public/whatsapp/{id}/timeline" },
  cancelWhatsapp: { method: "POST", path: "/v1/public/whatsapp/{id}/cancel" },
} as const satisfies Record<string, Operation>;

export type OperationId = keyof typeof OPERATIONS;
