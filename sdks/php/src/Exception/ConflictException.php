<?php

declare(strict_types=1);

namespace Herald\Exception;

/** 409 IDEMPOTENCY_KEY_MISMATCH or CONFLICT (a message no longer QUEUED cannot be canceled). */
final class ConflictException extends HeraldException
{
}
