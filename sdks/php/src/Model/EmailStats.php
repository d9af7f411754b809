<?php

declare(strict_types=1);

namespace Herald\Model;

use Herald\Internal\Convert;

/** Email statistics over a range of UTC days. */
final readonly class EmailStats
{
    /**
     * @param list<EmailStatsDay> $daily Each day of the range, oldest first.
     */
    public function __construct(
        /** The first day, inclusive, YYYY-MM-DD. */
        public string $from,
        /** The last day, inclusive, YYYY-MM-DD. */
        public string $to,
        public EmailStatsTotals $totals,
        public array $daily,
    ) {
    }

    /** @param array<string, mixed> $data */
    public static function fromArray(array $data): self
    {
        return new self($data['from'], $data['to'], EmailStatsTotals::fromArray($data['totals']), Convert::list($data['daily'], EmailStatsDay::fromArray(...)));
    }
}
