<?php

declare(strict_types=1);

namespace Herald\Exception;

/**
 * A webhook request that did not verify: answer it with a 400 (never a 410, which disables the
 * endpoint). Its code says why: one of the class's constants.
 */
final class WebhookVerificationException extends \RuntimeException
{
    public const INVALID_SECRET = 1;
    public const MISSING_HEADERS = 2;
    public const TIMESTAMP = 3;
    public const SIGNATURE = 4;
    public const PAYLOAD = 5;
}
