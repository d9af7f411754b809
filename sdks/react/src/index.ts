export { HeraldProvider, useHerald } from "./context.js";
export type { HeraldProviderProps } from "./context.js";
export { useMessages } from "./useMessages.js";
export type { UseMessagesOptions, UseMessagesResult } from "./useMessages.js";
export { useMessage } from "./useMessage.js";
export type { UseMessageOptions, UseMessageResult } from "./useMessage.js";
export { useSend } from "./useSend.js";
export type { SendStatus, UseSendResult } from "./useSend.js";
export type { ListParams, Message, SendBody } from "./resource.js";
