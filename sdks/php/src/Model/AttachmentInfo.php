<?php

declare(strict_types=1);

namespace Herald\Model;

/** An attachment as a message shows it, without its content. */
final readonly class AttachmentInfo
{
    public function __construct(
        public string $filename,
        public string $contentType,
        /** The decoded size in bytes. */
        public int $size,
    ) {
    }

    /** @param array<string, mixed> $data */
    public static function fromArray(array $data): self
    {
        return new self($data['filename'], $data['contentType'], $data['size']);
    }
}
