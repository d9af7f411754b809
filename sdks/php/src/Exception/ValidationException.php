<?php

declare(strict_types=1);

namespace Herald\Exception;

/** 422 VALIDATION_ERROR, SENDER_ID_NOT_APPROVED, RECIPIENT_OPTED_OUT, …: see getDetails(). */
final class ValidationException extends HeraldException
{
}
