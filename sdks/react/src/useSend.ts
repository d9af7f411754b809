import { HeraldError, type ChannelName, type SendOptions } from "@herald/sdk";
import { useCallback, useRef, useState } from "react";
import { useHerald } from "./context.js";
import { resourceOf, type Message, type SendBody } from "./resource.js";

export type SendStatus = "idle" | "sending" | "sent" | "failed";

export interface UseSendResult<C extends ChannelName> {
  /**
   * Sends one message. Resolves with it (QUEUED), or with undefined when the API refused it: the
   * refusal is then in `error`. Only the latest call updates the state.
   */
  send(body: SendBody<C>, options?: SendOptions): Promise<Message<C> | undefined>;
  status: SendStatus;
  sending: boolean;
  /** The message the last send created. */
  message: Message<C> | null;
  /** Why the last send was refused: `status`, `code`, `details` name what to fix. */
  error: HeraldError | null;
  /** Back to idle. */
  reset(): void;
}

interface State<M> {
  status: SendStatus;
  message: M | null;
  error: HeraldError | null;
}

const IDLE = { status: "idle", message: null, error: null } as const;

/** Sends messages on a channel, keeping the state of the last send. */
export function useSend<C extends ChannelName>(channel: C): UseSendResult<C> {
  const client = useHerald();
  const [state, setState] = useState<State<Message<C>>>(IDLE);
  const latest = useRef(0);

  const send = useCallback(
    async (body: SendBody<C>, options?: SendOptions) => {
      const call = ++latest.current;
      setState({ status: "sending", message: null, error: null });
      try {
        const message = await resourceOf(client, channel).send(body, options);
        if (call === latest.current) setState({ status: "sent", message, error: null });
        return message;
      } catch (error) {
        if (!(error instanceof HeraldError)) throw error;
        if (call === latest.current) setState({ status: "failed", message: null, error });
        return undefined;
      }
    },
    [client, channel],
  );

  const reset = useCallback(() => {
    latest.current++;
    setState(IDLE);
  }, []);

  return { ...state, sending: state.status === "sending", send, reset };
}
