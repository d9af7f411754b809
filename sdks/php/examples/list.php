<?php

require __DIR__ . '/../autoload.php'; // with Composer: require 'vendor/autoload.php';

use Herald\Client;

$herald = new Client(getenv('HERALD_API_KEY'), ['baseUrl' => getenv('HERALD_BASE_URL')]);

$page = $herald->sms->list(['flow' => 'OTP', 'query' => '2348067', 'pageSize' => 10]);
echo "OTP messages: {$page->total}\n";

$delivered = $herald->emails->listAll([
    'status' => 'DELIVERED',
    'createdFrom' => new DateTimeImmutable('-1 day'),
    'pageSize' => 100,
]);
foreach ($delivered as $email) {
    echo "delivered {$email->id} " . implode(', ', $email->to) . " {$email->subject}\n";
}
