import { HeraldError, isFinal, type ChannelName, type TimelineEntry } from "@herald/sdk";
import { useCallback, useEffect, useState } from "react";
import { useHerald } from "./context.js";
import { resourceOf, type Message } from "./resource.js";

export interface UseMessageOptions {
  /** Fetch again every `pollIntervalMs` until the message reaches a final status (see `isFinal`). */
  pollUntilFinal?: boolean;
  /** Default 1000. */
  pollIntervalMs?: number;
}

export interface UseMessageResult<C extends ChannelName> {
  /** The message, null until it is loaded. */
  message: Message<C> | null;
  /** Everything that happened to it, oldest first. */
  timeline: TimelineEntry[];
  loading: boolean;
  error: HeraldError | null;
  /** Loads it again (and polls again, when polling). */
  refetch(): void;
}

interface State<M> {
  id: string | null;
  message: M | null;
  timeline: TimelineEntry[];
  loading: boolean;
  error: HeraldError | null;
  /** Anything but an API failure (a bug, a malformed answer): thrown at render, for an error boundary. */
  failure?: unknown;
}

/** One message and its timeline; with `pollUntilFinal`, followed until its status is final. */
export function useMessage<C extends ChannelName>(
  channel: C,
  id: string | null | undefined,
  { pollUntilFinal = false, pollIntervalMs = 1000 }: UseMessageOptions = {},
): UseMessageResult<C> {
  const client = useHerald();
  const [state, setState] = useState<State<Message<C>>>({
    id: null,
    message: null,
    timeline: [],
    loading: false,
    error: null,
  });
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    if (!id) return;
    const resource = resourceOf(client, channel);
    const controller = new AbortController();
    const options = { signal: controller.signal };
    let timer: ReturnType<typeof setTimeout> | undefined;

    const load = async () => {
      try {
        const [message, timeline] = await Promise.all([resource.get(id, options), resource.timeline(id, options)]);
        setState({ id, message, timeline: timeline.data, loading: false, error: null });
        if (pollUntilFinal && !isFinal(message)) timer = setTimeout(load, pollIntervalMs);
      } catch (error) {
        if (controller.signal.aborted) return;
        setState((previous) =>
          error instanceof HeraldError
            ? { ...previous, loading: false, error }
            : { ...previous, loading: false, failure: error },
        );
      }
    };
    setState((previous) =>
      previous.id === id
        ? { ...previous, loading: true, error: null }
        : { id, message: null, timeline: [], loading: true, error: null },
    );
    void load();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [client, channel, id, pollUntilFinal, pollIntervalMs, generation]);

  if (state.failure !== undefined) throw state.failure;

  const refetch = useCallback(() => setGeneration((n) => n + 1), []);
  const current = id && state.id === id;
  return {
    message: current ? state.message : null,
    timeline: current ? state.timeline : [],
    loading: current ? state.loading : Boolean(id),
    error: current ? state.error : null,
    refetch,
  };
}
