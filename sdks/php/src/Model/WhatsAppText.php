<?php

declare(strict_types=1);

namespace Herald\Model;

/** The content of a WhatsApp text message. */
final readonly class WhatsAppText
{
    public function __construct(
        public string $body,
        /** Whether WhatsApp shows a preview of the first link. */
        public bool $previewUrl = false,
    ) {
    }

    /** @param array<string, mixed>|null $data */
    public static function fromArray(?array $data): ?self
    {
        return $data === null ? null : new self($data['body'], $data['previewUrl'] ?? false);
    }
}
