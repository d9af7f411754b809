package herald_test

// The README shows the bodies of these examples verbatim (readme_test.go checks it), and
// readme_test.go runs them: the send and list examples against a live server when HERALD_BASE_URL
// is set, the webhook example against signed requests.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"sync"
	"time"

	herald "github.com/herald-dev/herald/sdks/go"
)

func Example_send() {
	ctx := context.Background()
	client := herald.NewClient(os.Getenv("HERALD_API_KEY"), herald.WithBaseURL(os.Getenv("HERALD_BASE_URL")))

	sms, err := client.SMS.Send(ctx, herald.SendSMSParams{
		To:         "+2348067000111",
		Body:       "Your Acme code is 482913",
		SenderID:   os.Getenv("HERALD_SMS_SENDER_ID"),
		Flow:       herald.FlowOTP,
		ExternalID: "login-7731",
	})
	var apiErr *herald.Error
	if errors.As(err, &apiErr) {
		log.Fatalf("refused: %d %s %v (request %s)", apiErr.StatusCode, apiErr.Code, apiErr.Details, apiErr.RequestID)
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sms", sms.ID, sms.Status)

	email, err := client.Emails.Send(ctx, herald.SendEmailParams{
		From:    "Acme <billing@acme.test>",
		To:      []string{"zoe@example.com"},
		Subject: "Your receipt",
		HTML:    "<p>Thanks for your order.</p>",
		Tags:    map[string]string{"kind": "receipt"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("email", email.ID, email.Status)
}

func Example_list() {
	ctx := context.Background()
	client := herald.NewClient(os.Getenv("HERALD_API_KEY"), herald.WithBaseURL(os.Getenv("HERALD_BASE_URL")))

	page, err := client.SMS.List(ctx, herald.ListSMSParams{
		Flow:       herald.FlowOTP,
		ListParams: herald.ListParams{Query: "2348067", PageSize: 10},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("OTP messages:", page.Total)

	pager := client.Emails.ListAll(herald.ListParams{
		Status:      herald.StatusDelivered,
		CreatedFrom: time.Now().Add(-24 * time.Hour),
		PageSize:    100,
	})
	for pager.Next(ctx) {
		email := pager.Message()
		fmt.Println("delivered", email.ID, email.To, email.Subject)
	}
	if err := pager.Err(); err != nil {
		log.Fatal(err)
	}
}

func ExampleVerifyWebhook() {
	// The endpoint's secret; while rotating, list both the new and the previous one.
	secrets := []string{os.Getenv("HERALD_WEBHOOK_SECRET")}
	// Events arrive at least once: remember the ids you have handled (in your database, in the
	// transaction that does the work; a map here).
	var handled sync.Map

	http.HandleFunc("/webhooks/herald", func(w http.ResponseWriter, r *http.Request) {
		payload, err := io.ReadAll(r.Body) // the raw bytes Herald signed
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		event, err := herald.VerifyWebhook(payload, r.Header, secrets, herald.DefaultWebhookTolerance)
		if err != nil {
			http.Error(w, "invalid webhook", http.StatusBadRequest) // never 410: it disables the endpoint
			return
		}
		if _, seen := handled.LoadOrStore(event.ID, true); seen {
			w.WriteHeader(http.StatusNoContent) // a re-delivery: acknowledged, not acted on again
			return
		}
		switch event.Type {
		case "sms_delivered", "sms_failed":
			sms, err := event.SMS()
			if err != nil {
				handled.Delete(event.ID)
				http.Error(w, "malformed event", http.StatusBadRequest)
				return
			}
			fmt.Println("handled", event.Type, sms.ID, sms.Status)
		default:
			fmt.Println("ignored", event.Type) // a type this code does not act on
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
