<?php

declare(strict_types=1);

namespace Herald\Model;

/** The API key a client presents. */
final readonly class ApiKey
{
    /**
     * @param list<string> $scopes What it may do: send:sms, read:sms, …
     */
    public function __construct(
        public string $id,
        public string $name,
        /** Its first 12 characters. */
        public string $prefix,
        public array $scopes,
        public string $organizationId,
    ) {
    }

    /** @param array<string, mixed> $data */
    public static function fromArray(array $data): self
    {
        return new self($data['id'], $data['name'], $data['prefix'], $data['scopes'], $data['organizationId']);
    }
}
