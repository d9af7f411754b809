import { HeraldError, type ChannelName } from "@herald/sdk";
import { useCallback, useEffect, useState } from "react";
import { useHerald } from "./context.js";
import { resourceOf, type ListParams, type Message } from "./resource.js";

export interface UseMessagesOptions<C extends ChannelName> {
  /** Filters of the list: `status`, `query`, `createdFrom`, `createdTo`, and `flow` for SMS. */
  filters?: Omit<ListParams<C>, "page" | "pageSize">;
  /** The page to show first (default 1); a change of filters comes back to it. */
  page?: number;
  /** Messages a page, 1..100 (default 20). */
  pageSize?: number;
}

export interface UseMessagesResult<C extends ChannelName> {
  /** The page's messages, newest first (the previous page's while the next one loads). */
  data: Message<C>[];
  /** Messages matching the filters over all pages. */
  total: number;
  page: number;
  pageSize: number;
  pageCount: number;
  loading: boolean;
  error: HeraldError | null;
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  setPage(page: number): void;
  nextPage(): void;
  previousPage(): void;
  /** Loads the page again. */
  refetch(): void;
}

interface State<M> {
  data: M[];
  total: number;
  loading: boolean;
  error: HeraldError | null;
  /** Anything but an API failure (a bug, a malformed answer): thrown at render, for an error boundary. */
  failure?: unknown;
}

/** One page of a channel's messages, with its filters and page controls. */
export function useMessages<C extends ChannelName>(
  channel: C,
  { filters, page: firstPage = 1, pageSize = 20 }: UseMessagesOptions<C> = {},
): UseMessagesResult<C> {
  const client = useHerald();
  // Filters compared by value, so that an object literal written inline does not refetch on each render.
  const filtersKey = JSON.stringify(filters ?? {});
  const [page, setPage] = useState(firstPage);
  // Another list (channel, filters, page size or first page) starts again from its first page.
  const [shown, setShown] = useState({ channel, filtersKey, pageSize, firstPage });
  if (
    shown.channel !== channel ||
    shown.filtersKey !== filtersKey ||
    shown.pageSize !== pageSize ||
    shown.firstPage !== firstPage
  ) {
    setShown({ channel, filtersKey, pageSize, firstPage });
    setPage(firstPage);
  }
  const [state, setState] = useState<State<Message<C>>>({ data: [], total: 0, loading: true, error: null });
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    setState((previous) => ({ ...previous, loading: true, error: null }));
    resourceOf(client, channel)
      .list({ ...JSON.parse(filtersKey), page, pageSize }, { signal: controller.signal })
      .then(
        (answer) => setState({ data: answer.data, total: answer.total, loading: false, error: null }),
        (error: unknown) => {
          if (controller.signal.aborted) return;
          setState((previous) =>
            error instanceof HeraldError
              ? { ...previous, loading: false, error }
              : { ...previous, loading: false, failure: error },
          );
        },
      );
    return () => controller.abort();
  }, [client, channel, filtersKey, page, pageSize, generation]);

  if (state.failure !== undefined) throw state.failure;

  const pageCount = Math.max(1, Math.ceil(state.total / pageSize));
  const refetch = useCallback(() => setGeneration((n) => n + 1), []);
  return {
    data: state.data,
    total: state.total,
    page,
    pageSize,
    pageCount,
    loading: state.loading,
    error: state.error,
    hasNextPage: page < pageCount,
    hasPreviousPage: page > 1,
    setPage,
    nextPage: () => setPage((current) => Math.min(current + 1, pageCount)),
    previousPage: () => setPage((current) => Math.max(current - 1, 1)),
    refetch,
  };
}
