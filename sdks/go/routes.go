package herald

import (
	"net/http"
	"net/url"
	"strings"
)

// route is one operation of the public API, named by its OpenAPI operationId.
type route struct {
	operationID string
	method      string
	path        string // with {id} where the message id goes
}

func (r route) expand(id string) string {
	return strings.Replace(r.path, "{id}", url.PathEscape(id), 1)
}

type channelRoutes struct {
	send, batch, list, get, timeline, cancel route
}

var (
	smsRoutes = channelRoutes{
		send:     route{"sendSms", http.MethodPost, "/v1/public/sms/send"},
		batch:    route{"sendSmsBatch", http.MethodPost, "/v1/public/sms/batch"},
		list:     route{"listSms", http.MethodGet, "/v1/public/sms"},
		get:      route{"getSms", http.MethodGet, "/v1/public/sms/{id}"},
		timeline: route{"getSmsTimeline", http.MethodGet, "/v1/public/sms/{id}/timeline"},
		cancel:   route{"cancelSms", http.MethodPost, "/v1/public/sms/{id}/cancel"},
	}
	emailRoutes = channelRoutes{
		send:     route{"sendEmail", http.MethodPost, "/v1/public/emails/send"},
		batch:    route{"sendEmailBatch", http.MethodPost, "/v1/public/emails/batch"},
		list:     route{"listEmails", http.MethodGet, "/v1/public/emails"},
		get:      route{"getEmail", http.MethodGet, "/v1/public/emails/{id}"},
		timeline: route{"getEmailTimeline", http.MethodGet, "/v1/public/emails/{id}/timeline"},
		cancel:   route{"cancelEmail", http.MethodPost, "/v1/public/emails/{id}/cancel"},
	}
	whatsappRoutes = channelRoutes{
		send:     route{"sendWhatsapp", http.MethodPost, "/v1/public/whatsapp/send"},
		batch:    route{"sendWhatsappBatch", http.MethodPost, "/v1/public/whatsapp/batch"},
		list:     route{"listWhatsapp", http.MethodGet, "/v1/public/whatsapp"},
		get:      route{"getWhatsapp", http.MethodGet, "/v1/public/whatsapp/{id}"},
		timeline: route{"getWhatsappTimeline", http.MethodGet, "/v1/public/whatsapp/{id}/timeline"},
		cancel:   route{"cancelWhatsapp", http.MethodPost, "/v1/public/whatsapp/{id}/cancel"},
	}
	emailStatsRoute = route{"getEmailStats", http.MethodGet, "/v1/public/emails/stats"}
	senderIDsRoute  = route{"listSenderIds", http.MethodGet, "/v1/public/sms/sender-ids"}
	keyRoute        = route{"getApiKey", http.MethodGet, "/v1/public/key"}
)
