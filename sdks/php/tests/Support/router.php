<?php

// The stand-in server's router (php -S): records each request and answers with the next of the
// responses the test gave (the last one repeats). STANDIN_DIR holds responses.json and requests.jsonl.

declare(strict_types=1);

$dir = getenv('STANDIN_DIR');
$responses = json_decode(file_get_contents("$dir/responses.json"), true);
$lock = fopen("$dir/lock", 'c');
flock($lock, LOCK_EX);
$n = is_file("$dir/requests.jsonl") ? count(file("$dir/requests.jsonl", FILE_SKIP_EMPTY_LINES)) : 0;
file_put_contents("$dir/requests.jsonl", json_encode([
    'method' => $_SERVER['REQUEST_METHOD'],
    'path' => parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH),
    'query' => $_SERVER['QUERY_STRING'] ?? '',
    'headers' => array_change_key_case(getallheaders(), CASE_LOWER),
    'body' => file_get_contents('php://input'),
]) . "\n", FILE_APPEND);
flock($lock, LOCK_UN);

$response = $responses[min($n, count($responses) - 1)];
usleep(1000 * ($response['delayMs'] ?? 0));
http_response_code($response['status']);
header('Content-Type: application/json');
header('X-Request-Id: req-' . $n);
foreach ($response['headers'] ?? [] as $name => $value) {
    header("$name: $value");
}
echo is_string($response['body'] ?? null) ? $response['body'] : json_encode($response['body'] ?? new stdClass());
