package herald_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// exampleBodies reads the body of each Example function of example_test.go, as the README shows it
// (one level of indentation less).
func exampleBodies(t *testing.T) map[string]string {
	t.Helper()
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "example_test.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[string]string{}
	for _, decl := range file.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || !strings.HasPrefix(fn.Name.Name, "Example") {
			continue
		}
		start := fset.Position(fn.Body.Lbrace).Offset + 2 // after "{\n"
		end := fset.Position(fn.Body.Rbrace).Offset
		lines := strings.Split(strings.TrimRight(string(src[start:end]), "\n"), "\n")
		for i, line := range lines {
			lines[i] = strings.TrimPrefix(line, "\t")
		}
		bodies[fn.Name.Name] = strings.Join(lines, "\n")
	}
	return bodies
}

func TestReadmeShowsTheExamplesVerbatim(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```go\n(.*?)\n```").FindAllStringSubmatch(string(readme), -1)
	bodies := exampleBodies(t)
	if len(bodies) != 3 {
		t.Fatalf("example_test.go has %d examples, want the send, list and webhook ones", len(bodies))
	}
	shown := map[string]bool{}
	for _, block := range blocks {
		found := false
		for name, body := range bodies {
			if block[1] == body {
				shown[name], found = true, true
			}
		}
		if !found {
			t.Errorf("a go block of the README is no example of example_test.go:\n%s", block[1])
		}
	}
	for name := range bodies {
		if !shown[name] {
			t.Errorf("the README does not show %s as it is in example_test.go", name)
		}
	}
}

// captureStdout runs f and returns what it printed.
func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		var out bytes.Buffer
		_, _ = io.Copy(&out, r)
		done <- out.String()
	}()
	defer func() { os.Stdout = saved }()
	f()
	w.Close()
	return <-done
}

func TestReadmeSendAndListAgainstTheServer(t *testing.T) {
	if os.Getenv("HERALD_BASE_URL") == "" {
		t.Skip("HERALD_BASE_URL is not set: the send and list examples need a live server")
	}
	sent := captureStdout(t, Example_send)
	if !regexp.MustCompile(`^sms [0-9a-f-]{36} QUEUED\nemail [0-9a-f-]{36} QUEUED\n$`).MatchString(sent) {
		t.Errorf("the send example printed %q", sent)
	}
	listed := captureStdout(t, Example_list)
	m := regexp.MustCompile(`^OTP messages: (\d+)\n((delivered [0-9a-f-]{36} \[.*\] .*\n)*)$`).FindStringSubmatch(listed)
	if m == nil {
		t.Fatalf("the list example printed %q", listed)
	}
	if n, _ := strconv.Atoi(m[1]); n < 1 {
		t.Errorf("the list example found %d OTP messages after the send example sent one", n)
	}
}

func TestReadmeWebhookExample(t *testing.T) {
	const secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
	t.Setenv("HERALD_WEBHOOK_SECRET", secret)
	ExampleVerifyWebhook()
	server := httptest.NewServer(http.DefaultServeMux)
	defer server.Close()

	post := func(id string, body string, tamper bool) int {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + ts + "." + body))
		if tamper {
			body = strings.Replace(body, "DELIVERED", "FAILED", 1)
		}
		req, _ := http.NewRequest(http.MethodPost, server.URL+"/webhooks/herald", strings.NewReader(body))
		req.Header.Set("Webhook-Id", id)
		req.Header.Set("Webhook-Timestamp", ts)
		req.Header.Set("Webhook-Signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	delivered := `{"id":"evt_1","type":"sms_delivered","createdAt":"2026-11-27T10:00:00Z","organizationId":"org_1",` +
		`"data":{"id":"msg_1","channel":"sms","status":"DELIVERED","to":"+2348067000111"}}`
	test := `{"id":"evt_2","type":"webhook_test","createdAt":"2026-11-27T10:00:00Z","organizationId":"org_1",` +
		`"data":{"endpointId":"ep_1","message":"A test event from Herald"}}`

	var statuses []int
	out := captureStdout(t, func() {
		statuses = append(statuses,
			post("evt_1", delivered, true),  // refused
			post("evt_1", delivered, false), // handled
			post("evt_1", delivered, false), // a duplicate: acknowledged only
			post("evt_2", test, false),      // ignored
		)
	})
	if want := []int{400, 204, 204, 204}; fmt.Sprint(statuses) != fmt.Sprint(want) {
		t.Errorf("statuses %v, want %v", statuses, want)
	}
	if want := "handled sms_delivered msg_1 DELIVERED\nignored webhook_test\n"; out != want {
		t.Errorf("the receiver printed %q, want %q", out, want)
	}
}
