<?php

declare(strict_types=1);

namespace Herald\Model;

/** The content of a WhatsApp template message. */
final readonly class WhatsAppTemplate
{
    /**
     * @param list<array<string, mixed>> $components Meta's own components, passed through.
     */
    public function __construct(
        public string $name,
        /** Its language code: en_US. */
        public string $language,
        public array $components = [],
    ) {
    }

    /** @param array<string, mixed>|null $data */
    public static function fromArray(?array $data): ?self
    {
        return $data === null ? null : new self($data['name'], $data['language'], $data['components'] ?? []);
    }
}
