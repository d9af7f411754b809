import type { ChannelName, Channels, Herald, MessagesResource } from "@herald/sdk";

export type Message<C extends ChannelName> = Channels[C]["message"];
export type SendBody<C extends ChannelName> = Channels[C]["send"];
export type ListParams<C extends ChannelName> = Channels[C]["listParams"];

/** The client's resource of a channel, typed by the channel's name. */
export function resourceOf<C extends ChannelName>(
  client: Herald,
  channel: C,
): MessagesResource<Message<C>, SendBody<C>, ListParams<C>> {
  return client[channel] as unknown as MessagesResource<Message<C>, SendBody<C>, ListParams<C>>;
}
