<?php

declare(strict_types=1);

namespace Herald\Model;

use Herald\Internal\Convert;

/**
 * One page of a list, newest first.
 *
 * @template T
 */
final readonly class Page
{
    /**
     * @param list<T> $data
     */
    public function __construct(
        public array $data,
        /** This page's number, from 1. */
        public int $page,
        public int $pageSize,
        /** Items matching the filters over all pages. */
        public int $total,
    ) {
    }

    /**
     * @template U
     * @param array<string, mixed> $data
     * @param callable(array<string, mixed>): U $decode
     * @return self<U>
     */
    public static function fromArray(array $data, callable $decode): self
    {
        return new self(Convert::list($data['data'], $decode), $data['page'], $data['pageSize'], $data['total']);
    }

    /** Whether a later page may hold more items. */
    public function hasMore(): bool
    {
        return $this->data !== [] && $this->page * $this->pageSize < $this->total;
    }
}
