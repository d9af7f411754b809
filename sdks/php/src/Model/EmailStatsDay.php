<?php

declare(strict_types=1);

namespace Herald\Model;

/** One UTC day's email counts. */
final readonly class EmailStatsDay
{
    public function __construct(
        /** The day, YYYY-MM-DD. */
        public string $date,
        public int $queued,
        public int $sent,
        public int $delivered,
        public int $bounced,
        public int $complained,
        public int $failed,
        public int $opened,
        public int $clicked,
    ) {
    }

    /** @param array<string, mixed> $data */
    public static function fromArray(array $data): self
    {
        return new self(
            $data['date'], $data['queued'], $data['sent'], $data['delivered'], $data['bounced'],
            $data['complained'], $data['failed'], $data['opened'], $data['clicked'],
        );
    }
}
