<?php

declare(strict_types=1);

namespace Herald\Internal;

/** @internal Conversions shared by the models. */
final class Convert
{
    public static function time(?string $value): ?\DateTimeImmutable
    {
        return $value === null ? null : new \DateTimeImmutable($value);
    }

    /**
     * @template T
     * @param list<array<string, mixed>> $items
     * @param callable(array<string, mixed>): T $decode
     * @return list<T>
     */
    public static function list(array $items, callable $decode): array
    {
        return array_values(array_map($decode, $items));
    }
}
