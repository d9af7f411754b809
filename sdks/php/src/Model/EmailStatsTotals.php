<?php

declare(strict_types=1);

namespace Herald\Model;

/** Email counts (each message once) and rates (0..1) over a range of days. */
final readonly class EmailStatsTotals
{
    public function __construct(
        public int $queued,
        public int $sent,
        public int $delivered,
        public int $bounced,
        public int $complained,
        public int $failed,
        public int $opened,
        public int $clicked,
        /** Delivered over sent. */
        public float $deliveryRate,
        /** Bounced over sent. */
        public float $bounceRate,
        /** Opened over delivered. */
        public float $openRate,
        /** Clicked over delivered. */
        public float $clickRate,
    ) {
    }

    /** @param array<string, mixed> $data */
    public static function fromArray(array $data): self
    {
        return new self(
            $data['queued'], $data['sent'], $data['delivered'], $data['bounced'], $data['complained'],
            $data['failed'], $data['opened'], $data['clicked'],
            (float) $data['deliveryRate'], (float) $data['bounceRate'], (float) $data['openRate'], (float) $data['clickRate'],
        );
    }
}
