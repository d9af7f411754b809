export { HeraldProvider, useHerald } from "./context.js";
export type { HeraldProviderProps } from "./context.js";
export { useMessages } from "./useMessages.js";
export type { UseMessagesOptions, UseMessagesResult } from "./useMessages.js";
export { useMessage } from "./useMessage.js";
export type { UseMessageOptions, UseMessageResult } from "./useMessage.js";
export { useSend } from "./useSend.js";
export type { SendStatus, UseSendResult } from "./useSend.js";
export type { ListParams, Message, SendBody } from "./resource.js";
// What a React app's server side (a Next.js route handler, say) needs beside the hooks, from the JS SDK.
export { HeraldError, WebhookVerificationError, verifyMetaSignature, verifyWebhook } from "@herald/sdk";
