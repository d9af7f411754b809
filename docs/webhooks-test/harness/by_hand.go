// Runs the by-hand verify() of docs/webhooks.md (verify.go, beside this file in package main) over the
// cases on stdin; prints one answer each.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

type testCase struct {
	Secret, ID, Timestamp, Signature string
	Body                             []byte // base64 in JSON
	Now                              *int64
}

func answer(c testCase) (a any) {
	defer func() {
		if p := recover(); p != nil {
			a = fmt.Sprintf("raised %v", p) // the recipe must refuse, not panic
		}
	}()
	now := time.Now()
	if c.Now != nil {
		now = time.Unix(*c.Now, 0)
	}
	return verify(c.Secret, c.ID, c.Timestamp, c.Signature, c.Body, now)
}

func main() {
	var cases []testCase
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		panic(err)
	}
	answers := make([]any, len(cases))
	for i, c := range cases {
		answers[i] = answer(c)
	}
	if err := json.NewEncoder(os.Stdout).Encode(answers); err != nil {
		panic(err)
	}
}
