<?php
// Runs the by-hand herald_verify() of docs/webhooks.md (verify.php) over the cases on stdin; prints one
// answer each.
require __DIR__ . '/verify.php';

$answers = [];
foreach (json_decode(file_get_contents('php://stdin'), true) as $c) {
    try {
        $answers[] = herald_verify($c['secret'], $c['id'], $c['timestamp'], $c['signature'], base64_decode($c['body']), $c['now']);
    } catch (Throwable $e) { // the recipe must refuse, not throw
        $answers[] = 'raised ' . get_class($e) . ': ' . $e->getMessage();
    }
}
echo json_encode($answers);
