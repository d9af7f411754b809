<?php

declare(strict_types=1);

namespace Herald\Exception;

/** 401 UNAUTHORIZED: missing, malformed, expired or revoked credentials. */
final class AuthenticationException extends HeraldException
{
}
