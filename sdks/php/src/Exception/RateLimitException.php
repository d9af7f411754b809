<?php

declare(strict_types=1);

namespace Herald\Exception;

/** 429 RATE_LIMITED, after the SDK's retries. */
final class RateLimitException extends HeraldException
{
}
