package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsui/opsui/inventory"
)

// receiver is a webhook endpoint that records what it gets and answers
// with the next of its statuses (the last one repeats).
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	got      []request
	hang     chan struct{} // when set, each request waits for it (or its end)
}

type request struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	r := &receiver{statuses: statuses}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, request{header: req.Header.Clone(), body: b})
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status = r.statuses[0]
			if len(r.statuses) > 1 {
				r.statuses = r.statuses[1:]
			}
		}
		hang := r.hang
		r.mu.Unlock()
		if hang != nil {
			select {
			case <-hang:
			case <-req.Context().Done():
			}
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.got...)
}

func sampleEvent(event string) Event {
	return Event{Event: event, App: "shop", Env: "production", ReleaseID: "20240501120000",
		Commit: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", Subject: "Fix the cart", Branch: "main",
		Operator: "alice", Result: "ok", Hosts: []string{"web1", "web2"}, Duration: 42500 * time.Millisecond,
		RunID: 7, Time: time.Date(2024, 5, 1, 12, 0, 42, 0, time.UTC)}
}

// fast is a Sender with short waits for tests.
func fast() *Sender {
	return &Sender{Timeout: 10 * time.Second, Backoff: 10 * time.Millisecond, Getenv: func(k string) string {
		if k == "HOOK_SECRET" {
			return "k3y"
		}
		return ""
	}}
}

func TestSendJSONSigned(t *testing.T) {
	r := newReceiver(t)
	hooks := []inventory.Webhook{{URL: r.URL + "/hook?token=abc", SecretEnv: "HOOK_SECRET"}}
	if errs := fast().Send(context.Background(), hooks, sampleEvent(inventory.NotifySuccess)); errs != nil {
		t.Fatalf("errors: %v", errs)
	}
	got := r.requests()
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
	var body map[string]any
	if err := json.Unmarshal(got[0].body, &body); err != nil {
		t.Fatalf("body %s: %v", got[0].body, err)
	}
	want := map[string]any{
		"event": "success", "app": "shop", "env": "production", "release_id": "20240501120000",
		"commit": "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", "subject": "Fix the cart", "branch": "main",
		"operator": "alice", "result": "ok", "hosts": []any{"web1", "web2"}, "duration_seconds": 42.5,
		"run_id": 7.0, "time": "2024-05-01T12:00:42Z",
	}
	for k, v := range want {
		if gv, _ := json.Marshal(body[k]); string(gv) != mustJSON(t, v) {
			t.Errorf("body[%s] = %s, want %s", k, gv, mustJSON(t, v))
		}
	}
	if len(body) != len(want) {
		t.Errorf("body has %d fields, want %d: %s", len(body), len(want), got[0].body)
	}
	h := got[0].header
	if h.Get("Content-Type") != "application/json" || h.Get(HeaderEvent) != "success" {
		t.Errorf("headers = %v", h)
	}
	if sig := h.Get(HeaderSignature); !Verify([]byte("k3y"), got[0].body, sig) || Verify([]byte("other"), got[0].body, sig) {
		t.Errorf("signature %q does not verify", sig)
	}
	if strings.Contains(string(got[0].body), "k3y") {
		t.Error("the body holds the secret")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSendRetriesAfterServerError(t *testing.T) {
	r := newReceiver(t, http.StatusInternalServerError, http.StatusOK)
	if errs := fast().Send(context.Background(), []inventory.Webhook{{URL: r.URL}}, sampleEvent(inventory.NotifyStart)); errs != nil {
		t.Fatalf("errors: %v", errs)
	}
	if n := len(r.requests()); n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}
}

func TestSendGivesUp(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		attempts int
		want     string
	}{
		{"server error every time", http.StatusBadGateway, 3, "answered HTTP 502 Bad Gateway (3 attempts)"},
		{"client error is not retried", http.StatusNotFound, 1, "answered HTTP 404 Not Found"},
		{"too many requests is retried", http.StatusTooManyRequests, 3, "answered HTTP 429 Too Many Requests (3 attempts)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReceiver(t, tt.status)
			hooks := []inventory.Webhook{{URL: r.URL + "/x?token=SECRET"}}
			errs := fast().Send(context.Background(), hooks, sampleEvent(inventory.NotifyFailure))
			if len(errs) != 1 {
				t.Fatalf("errors = %v", errs)
			}
			want := "notify " + r.URL + " of failure: " + tt.want
			if errs[0].Error() != want {
				t.Errorf("error = %q\nwant    %q", errs[0], want)
			}
			if n := len(r.requests()); n != tt.attempts {
				t.Errorf("%d attempts, want %d", n, tt.attempts)
			}
		})
	}
}

// TestSendHangingServerTimesOut: a receiver that never answers costs the
// sender its Timeout, not more, and the error says it timed out.
func TestSendHangingServerTimesOut(t *testing.T) {
	r := newReceiver(t)
	r.hang = make(chan struct{})
	defer close(r.hang)
	s := fast()
	s.Timeout = 300 * time.Millisecond
	began := time.Now()
	errs := s.Send(context.Background(), []inventory.Webhook{{URL: r.URL + "/?token=SECRET"}}, sampleEvent(inventory.NotifyStart))
	took := time.Since(began)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "timed out") || strings.Contains(errs[0].Error(), "SECRET") {
		t.Fatalf("errors = %v", errs)
	}
	if took > 5*time.Second { // loose: the machine is loaded; the point is it does not wait for the server
		t.Errorf("Send took %v with a 300ms timeout", took)
	}
}

// TestAsyncDoesNotBlock: Async returns before a hanging receiver answers,
// and its channel reports the timeout.
func TestAsyncDoesNotBlock(t *testing.T) {
	r := newReceiver(t)
	r.hang = make(chan struct{})
	defer close(r.hang)
	s := fast()
	s.Timeout = 200 * time.Millisecond
	done := make(chan struct{})
	var ch <-chan []error
	go func() {
		ch = s.Async(context.Background(), []inventory.Webhook{{URL: r.URL}}, sampleEvent(inventory.NotifyStart))
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Async blocked")
	}
	select {
	case errs := <-ch:
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), "timed out") {
			t.Errorf("errors = %v", errs)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no outcome from Async")
	}
	if _, open := <-ch; open {
		t.Error("channel not closed after the outcome")
	}
}

func TestSendFiltersEventsAndFormats(t *testing.T) {
	all, failures, slack := newReceiver(t), newReceiver(t), newReceiver(t)
	hooks := []inventory.Webhook{
		{URL: all.URL},
		{URL: failures.URL, Events: []string{inventory.NotifyFailure, inventory.NotifyRollback}},
		{URL: slack.URL, Format: inventory.NotifyFormatSlack},
	}
	ev := sampleEvent(inventory.NotifySuccess)
	if errs := fast().Send(context.Background(), hooks, ev); errs != nil {
		t.Fatal(errs)
	}
	if len(all.requests()) != 1 || len(failures.requests()) != 0 {
		t.Errorf("requests: all %d, failures-only %d", len(all.requests()), len(failures.requests()))
	}
	got := slack.requests()
	if len(got) != 1 {
		t.Fatalf("slack requests: %d", len(got))
	}
	var msg map[string]string
	if err := json.Unmarshal(got[0].body, &msg); err != nil {
		t.Fatal(err)
	}
	want := "alice deployed shop 1a2b3c4 (Fix the cart) to production as release 20240501120000 on 2 hosts: ok in 43s"
	if len(msg) != 1 || msg["text"] != want {
		t.Errorf("slack body = %s\nwant text %q", got[0].body, want)
	}
}

func TestSendErrorsAreRedacted(t *testing.T) {
	r := newReceiver(t)
	url := r.URL + "/hook?token=tok3n"
	r.Close() // nothing listens any more: connection refused
	hooks := []inventory.Webhook{
		{URL: url},
		{URL: "https://user:tok3n@127.0.0.1:1/x?token=tok3n", SecretEnv: "UNSET_SECRET"},
	}
	s := fast()
	s.Retries = -1
	errs := s.Send(context.Background(), hooks, sampleEvent(inventory.NotifyRollback))
	if len(errs) != 2 {
		t.Fatalf("errors = %v", errs)
	}
	for _, err := range errs {
		if strings.Contains(err.Error(), "tok3n") || strings.Contains(err.Error(), "/hook") {
			t.Errorf("error not redacted: %v", err)
		}
	}
	if !strings.Contains(errs[0].Error(), "connection refused") {
		t.Errorf("error does not say why: %v", errs[0])
	}
	if !strings.Contains(errs[1].Error(), "the signing secret $UNSET_SECRET is not set here: not sent") {
		t.Errorf("unset secret: %v", errs[1])
	}
}

func TestSendCancelled(t *testing.T) {
	r := newReceiver(t, http.StatusServiceUnavailable)
	ctx, cancel := context.WithCancel(context.Background())
	s := fast()
	s.Backoff = time.Hour // the retry waits; cancelling ends the wait
	go func() {
		for len(r.requests()) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	errs := s.Send(ctx, []inventory.Webhook{{URL: r.URL}}, sampleEvent(inventory.NotifyStart))
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "answered HTTP 503 Service Unavailable (1 attempt, then cancelled)") {
		t.Errorf("errors = %v", errs)
	}
}

func TestSlackText(t *testing.T) {
	tests := []struct {
		ev   Event
		want string
	}{
		{Event{Event: inventory.NotifyStart, App: "shop", Env: "staging", Commit: "abc", Hosts: []string{"web1"}},
			"someone is deploying shop abc to staging on 1 host"},
		{sampleEvent(inventory.NotifyFailure),
			"alice failed to deploy shop 1a2b3c4 (Fix the cart) to production as release 20240501120000 on 2 hosts: ok in 43s"},
		{Event{Event: inventory.NotifyRollback, App: "shop", Env: "production", Commit: "1a2b3c4d", ReleaseID: "20240430", Operator: "bob",
			Result: "ok", Duration: 3 * time.Second, Hosts: []string{"web1", "web2"}},
			"bob rolled production back to shop 1a2b3c4 as release 20240430 on 2 hosts: ok in 3s"},
	}
	for _, tt := range tests {
		if got := SlackText(tt.ev); got != tt.want {
			t.Errorf("SlackText = %q\nwant        %q", got, tt.want)
		}
	}
}

// TestSendErrorsShowOnlySchemeAndHost fails a Slack-style webhook, whose
// token is in its path, in every way net/http can fail, and checks that no
// part of the path, query, fragment or user info is in any error.
func TestSendErrorsShowOnlySchemeAndHost(t *testing.T) {
	const secretPath = "/services/T0SECRET1/B0SECRET2/xoxbSECRETTOKEN"
	secrets := []string{"T0SECRET1", "B0SECRET2", "xoxbSECRETTOKEN", "services", "q5ecret", "fr4gment", "us3r", "passw0rd"}
	tail := secretPath + "?token=q5ecret#fr4gment"

	refused := newReceiver(t)
	refused.Close()
	failing := newReceiver(t, http.StatusInternalServerError)
	hanging := newReceiver(t)
	hanging.hang = make(chan struct{})
	t.Cleanup(func() { close(hanging.hang) })
	var loop *httptest.Server
	loop = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, loop.URL+r.URL.Path+"/next?token=q5ecret", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(loop.Close)
	badLocation := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "http://[::1%zz]"+secretPath)
		w.WriteHeader(http.StatusFound)
	}))
	t.Cleanup(badLocation.Close)

	withUser := func(base string) string { return strings.Replace(base, "://", "://us3r:passw0rd@", 1) }
	hooks := []inventory.Webhook{
		{URL: refused.URL + tail, Format: inventory.NotifyFormatSlack},
		{URL: withUser(failing.URL) + tail},
		{URL: hanging.URL + tail},
		{URL: loop.URL + tail},
		{URL: badLocation.URL + tail},
		{URL: "http://127.0.0.1:notaport" + tail},
		{URL: "https://hooks.slack.com" + tail, SecretEnv: "UNSET_SECRET"},
	}
	s := fast()
	s.Timeout = 2 * time.Second
	s.Retries = 1
	errs := s.Send(context.Background(), hooks, sampleEvent(inventory.NotifyFailure))
	if len(errs) != len(hooks) {
		t.Fatalf("want %d errors, got %d: %v", len(hooks), len(errs), errs)
	}
	for _, err := range errs {
		msg := fmt.Sprintf("%v %+v %#v", err, err, err)
		for _, sec := range secrets {
			if strings.Contains(msg, sec) {
				t.Errorf("error shows %q: %v", sec, err)
			}
		}
		for e := err; e != nil; e = errors.Unwrap(e) {
			var ue *url.Error
			if errors.As(e, &ue) {
				t.Errorf("error still wraps a *url.Error: %v", err)
			}
		}
	}
	for i, want := range []string{"connection refused", "HTTP 500", "timed out", "redirects", "Location", "invalid webhook url", "UNSET_SECRET"} {
		if !strings.Contains(errs[i].Error(), want) {
			t.Errorf("error %d does not say why (%q): %v", i, want, errs[i])
		}
	}
	if !strings.HasPrefix(errs[0].Error(), "notify "+refused.URL+" of failure: ") {
		t.Errorf("error does not name the webhook by scheme and host: %v", errs[0])
	}
}
