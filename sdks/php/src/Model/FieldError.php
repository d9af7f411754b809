<?php

declare(strict_types=1);

namespace Herald\Model;

/** One invalid field of a request. */
final readonly class FieldError
{
    public function __construct(
        /** The field's path in the body or query: "to", "messages[3].to". */
        public string $field,
        public string $message,
        /** A batch item's own error code. */
        public ?string $code = null,
    ) {
    }

    /** @param array<string, mixed> $data */
    public static function fromArray(array $data): self
    {
        return new self($data['field'], $data['message'], $data['code'] ?? null);
    }
}
