<?php

declare(strict_types=1);

namespace Herald\Exception;

/** 403 FORBIDDEN or INSUFFICIENT_SCOPE: the API key lacks the scope. */
final class PermissionException extends HeraldException
{
}
