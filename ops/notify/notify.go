// Package notify tells webhooks about deploys and rollbacks: a JSON body
// (or a Slack-compatible one) posted to each of an app's notify URLs that
// asks for the event, signed with HMAC-SHA256 when the webhook names a
// secret, retried with backoff, and bounded in time so that a slow or dead
// receiver never holds a deploy up by more than its timeout.
//
// Sending never fails a deploy: the errors come back, one per webhook that
// could not be told, for the caller to show as notes. They name a webhook
// by its scheme and host alone: its path (Slack's token), query and user
// info never appear, not even inside net/http's errors; nor does the
// signing secret, which is read from the operator's environment
// (Webhook.SecretEnv) and only used to sign.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/opsui/opsui/inventory"
)

// Defaults of a zero Sender.
const (
	// DefaultTimeout bounds everything sent to one webhook, retries and
	// their waits included.
	DefaultTimeout = 5 * time.Second
	// DefaultRetries is how many times a failed post is tried again.
	DefaultRetries = 2
	// DefaultBackoff is the wait before the first retry; it doubles.
	DefaultBackoff = 250 * time.Millisecond
)

// Headers of every post.
const (
	HeaderEvent     = "X-Opsui-Event"
	HeaderSignature = "X-Opsui-Signature-256" // "sha256=" and the hex HMAC-SHA256 of the body
)

// Event is what happened. It is the JSON body (see MarshalJSON); nothing in
// it is secret.
type Event struct {
	Event     string // inventory.NotifyStart, NotifySuccess, NotifyFailure or NotifyRollback
	App       string
	Env       string
	ReleaseID string
	Commit    string
	Subject   string // the commit's subject line
	Branch    string
	Operator  string
	Result    string   // the run's outcome (ok, failed, partial, cancelled); empty at start
	Hosts     []string // the hosts deployed to
	Duration  time.Duration
	RunID     int64     // the run's record, when there is one
	Time      time.Time // when it happened (the time of sending when zero)
}

// body is the JSON form of an Event.
type body struct {
	Event           string    `json:"event"`
	App             string    `json:"app"`
	Env             string    `json:"env"`
	ReleaseID       string    `json:"release_id,omitempty"`
	Commit          string    `json:"commit,omitempty"`
	Subject         string    `json:"subject,omitempty"`
	Branch          string    `json:"branch,omitempty"`
	Operator        string    `json:"operator,omitempty"`
	Result          string    `json:"result,omitempty"`
	Hosts           []string  `json:"hosts"`
	DurationSeconds float64   `json:"duration_seconds"`
	RunID           int64     `json:"run_id,omitempty"`
	Time            time.Time `json:"time"`
}

// MarshalJSON writes the event as the webhook body: snake_case fields,
// duration_seconds, time in RFC 3339, hosts always a list.
func (e Event) MarshalJSON() ([]byte, error) {
	hosts := e.Hosts
	if hosts == nil {
		hosts = []string{}
	}
	return json.Marshal(body{Event: e.Event, App: e.App, Env: e.Env, ReleaseID: e.ReleaseID, Commit: e.Commit,
		Subject: e.Subject, Branch: e.Branch, Operator: e.Operator, Result: e.Result, Hosts: hosts,
		DurationSeconds: e.Duration.Round(time.Millisecond).Seconds(), RunID: e.RunID, Time: e.Time.UTC()})
}

// Sender posts events. The zero value is usable; its fields override the
// defaults.
type Sender struct {
	// Client sends the posts (a client of its own when nil). Its own
	// Timeout, if any, applies on top of Timeout.
	Client *http.Client
	// Timeout bounds everything sent to one webhook, retries included
	// (DefaultTimeout when 0).
	Timeout time.Duration
	// Retries is how many times a failed post is tried again
	// (DefaultRetries when 0, none when negative). Network errors,
	// timeouts, 408, 429 and 5xx answers are retried; other answers not.
	Retries int
	// Backoff is the wait before the first retry, doubled before each
	// next one (DefaultBackoff when 0).
	Backoff time.Duration
	// Getenv looks up a webhook's SecretEnv (os.Getenv when nil).
	Getenv func(string) string
}

// Send tells every webhook that wants ev.Event about it, with a zero
// Sender's defaults. See Sender.Send.
func Send(ctx context.Context, hooks []inventory.Webhook, ev Event) []error {
	var s Sender
	return s.Send(ctx, hooks, ev)
}

// Async is Send in the background: it returns at once, and the channel
// gets the errors (nil when every webhook was told), then is closed.
func Async(ctx context.Context, hooks []inventory.Webhook, ev Event) <-chan []error {
	var s Sender
	return s.Async(ctx, hooks, ev)
}

// Async is Send in the background: it returns at once, and the channel
// gets the errors (nil when every webhook was told), then is closed.
func (s *Sender) Async(ctx context.Context, hooks []inventory.Webhook, ev Event) <-chan []error {
	ch := make(chan []error, 1)
	go func() {
		defer close(ch)
		ch <- s.Send(ctx, hooks, ev)
	}()
	return ch
}

// Send posts ev to every webhook that wants ev.Event, all at once, and
// returns when each has answered or run out of its Timeout (or ctx ends):
// it never takes much longer than Timeout. It returns one error per
// webhook that was not told, in the order of hooks, each naming the
// webhook by its scheme and host only; nil when all were. A deploy that
// was cancelled should still say so: pass context.WithoutCancel(ctx).
func (s *Sender) Send(ctx context.Context, hooks []inventory.Webhook, ev Event) []error {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	errs := make([]error, len(hooks))
	var wg sync.WaitGroup
	for i, h := range hooks {
		if !h.Wants(ev.Event) {
			continue
		}
		wg.Go(func() {
			if err := s.send(ctx, h, ev); err != nil {
				errs[i] = fmt.Errorf("notify %s of %s: %s", inventory.RedactURL(h.URL), ev.Event, redact(err.Error(), h.URL))
			}
		})
	}
	wg.Wait()
	var out []error
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// send posts ev to one webhook, retrying within the Timeout.
func (s *Sender) send(ctx context.Context, h inventory.Webhook, ev Event) error {
	payload, err := encode(h, ev)
	if err != nil {
		return err
	}
	var sig string
	if h.SecretEnv != "" {
		key := s.getenv(h.SecretEnv)
		if key == "" {
			return fmt.Errorf("the signing secret $%s is not set here: not sent", h.SecretEnv)
		}
		sig = Sign([]byte(key), payload)
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	retries := s.Retries
	switch {
	case retries == 0:
		retries = DefaultRetries
	case retries < 0:
		retries = 0
	}
	wait := s.Backoff
	if wait <= 0 {
		wait = DefaultBackoff
	}
	var last error
	attempts := 0
	for {
		retry, err := s.post(ctx, h.URL, ev.Event, sig, payload)
		attempts++
		if err == nil {
			return nil
		}
		last = err
		if !retry || attempts > retries {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (%s, then %s)", last, plural(attempts, "attempt"), cause(ctx))
		case <-t.C:
		}
		wait *= 2
	}
	if attempts > 1 {
		return fmt.Errorf("%w (%s)", last, plural(attempts, "attempt"))
	}
	return last
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func cause(ctx context.Context) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "timed out"
	}
	return "cancelled"
}

// post makes one attempt; retry says whether another may succeed.
func (s *Sender) post(ctx context.Context, rawURL, event, sig string, payload []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(payload))
	if err != nil {
		return false, errors.New("invalid webhook url") // the parse error would quote the URL
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "opsui")
	req.Header.Set(HeaderEvent, event)
	if sig != "" {
		req.Header.Set(HeaderSignature, sig)
	}
	client := s.Client
	if client == nil {
		client = &http.Client{}
	}
	resp, err := client.Do(req)
	if err != nil {
		return ctx.Err() == nil, scrub(err, rawURL)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	retry = resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout
	return retry, fmt.Errorf("answered HTTP %s", resp.Status)
}

// urlInText finds URLs in an error's text (a redirect's target, a bad
// Location header).
var urlInText = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>]+`)

// scrub returns err without any secret part of the webhook URL rawURL:
// net/http's *url.Error embeds the whole URL, a redirect's error names its
// target, so every URL in the text is cut to its scheme and host, and any
// remaining copy of rawURL's path, query, fragment or user info is cut
// out. Why the post failed is kept. The result no longer wraps err: a
// wrapped *url.Error would give the URL back to anyone who unwraps it.
func scrub(err error, rawURL string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return errors.New("timed out")
	case errors.Is(err, context.Canceled):
		return errors.New("cancelled")
	}
	return errors.New(redact(err.Error(), rawURL))
}

// redact cuts every URL in msg to its scheme and host, then any copy of
// rawURL's path, query, fragment, user info or a path segment long enough
// to be a token (Slack's are 9 to 24 characters) that is left.
func redact(msg, rawURL string) string {
	msg = urlInText.ReplaceAllStringFunc(msg, inventory.RedactURL)
	u, err := url.Parse(rawURL)
	if err != nil {
		return msg
	}
	secrets := []string{u.EscapedPath(), u.Path, u.RawQuery, u.Fragment}
	if u.User != nil {
		secrets = append(secrets, u.User.String())
	}
	for _, part := range strings.Split(u.Path, "/") {
		if len(part) >= 8 {
			secrets = append(secrets, part)
		}
	}
	for _, sec := range secrets {
		if len(sec) > 1 {
			msg = strings.ReplaceAll(msg, sec, "…")
		}
	}
	return msg
}

func (s *Sender) getenv(k string) string {
	if s.Getenv != nil {
		return s.Getenv(k)
	}
	return os.Getenv(k)
}

// Sign returns the signature header value of payload: "sha256=" and the
// hex HMAC-SHA256 of payload keyed with key. A receiver recomputes it over
// the body it got and compares in constant time (hmac.Equal).
func Sign(key, payload []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(payload)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is payload's signature under key.
func Verify(key, payload []byte, sig string) bool {
	return hmac.Equal([]byte(sig), []byte(Sign(key, payload)))
}

// encode returns the body the webhook's format asks for.
func encode(h inventory.Webhook, ev Event) ([]byte, error) {
	var v any = ev
	if h.Format == inventory.NotifyFormatSlack {
		v = map[string]string{"text": SlackText(ev)}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode the %s event: %w", ev.Event, err)
	}
	return b, nil
}

// SlackText is the one-line message of the Slack format, e.g. "alice
// deployed shop 1a2b3c4 (Fix the cart) to production as release
// 20240501120000 on 3 hosts: ok in 42s".
func SlackText(ev Event) string {
	commit := ev.Commit
	if len(commit) > 7 {
		commit = commit[:7]
	}
	what := strings.TrimSpace(ev.App + " " + commit)
	if ev.Subject != "" {
		what += " (" + ev.Subject + ")"
	}
	who := ev.Operator
	if who == "" {
		who = "someone"
	}
	var text string
	switch ev.Event {
	case inventory.NotifyStart:
		text = fmt.Sprintf("%s is deploying %s to %s", who, what, ev.Env)
	case inventory.NotifySuccess:
		text = fmt.Sprintf("%s deployed %s to %s", who, what, ev.Env)
	case inventory.NotifyFailure:
		text = fmt.Sprintf("%s failed to deploy %s to %s", who, what, ev.Env)
	case inventory.NotifyRollback:
		text = fmt.Sprintf("%s rolled %s back to %s", who, ev.Env, what)
	default:
		text = fmt.Sprintf("%s: %s %s, %s", ev.Event, who, what, ev.Env)
	}
	if ev.ReleaseID != "" {
		text += " as release " + ev.ReleaseID
	}
	text += fmt.Sprintf(" on %d host", len(ev.Hosts))
	if len(ev.Hosts) != 1 {
		text += "s"
	}
	if ev.Result != "" {
		text += ": " + ev.Result
		if ev.Duration > 0 {
			text += " in " + ev.Duration.Round(time.Second).String()
		}
	}
	return text
}
