<?php

declare(strict_types=1);

namespace Herald\Model;

/** Why a message failed. */
final readonly class MessageError
{
    public function __construct(
        /** The provider's or Herald's code: META_131026, PROVIDER_REJECTED, UNDELIV. */
        public string $code,
        /** What the provider said. */
        public string $message,
    ) {
    }

    /** @param array<string, mixed>|null $data */
    public static function fromArray(?array $data): ?self
    {
        return $data === null ? null : new self($data['code'], $data['message']);
    }
}
