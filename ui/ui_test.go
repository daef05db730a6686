package ui

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

// TestHandlerServesPageAndTrace: the page and its assets under /ui/; the
// trace only when there is one (a node has none, and the page then follows
// the node).
func TestHandlerServesPageAndTrace(t *testing.T) {
	live, played := Handler(nil), Handler([]byte(`{"k":"header"}`+"\n"))
	for _, p := range []string{"/ui/", "/ui/app.js", "/ui/style.css"} {
		if code, body := get(t, live, p); code != http.StatusOK || body == "" {
			t.Errorf("GET %s: %d", p, code)
		}
	}
	if code, body := get(t, live, "/ui/"); !strings.Contains(body, `<script src="app.js">`) {
		t.Errorf("GET /ui/: %d, no script: %.200s", code, body)
	}
	if code, _ := get(t, live, "/ui/trace.jsonl"); code != http.StatusNotFound {
		t.Errorf("a node's /ui/trace.jsonl: %d, want 404", code)
	}
	if code, body := get(t, played, "/ui/trace.jsonl"); code != http.StatusOK || !strings.HasPrefix(body, `{"k":"header"}`) {
		t.Errorf("bftnode ui's /ui/trace.jsonl: %d %q", code, body)
	}
}

// TestAssetsLoadNothingFromElsewhere: no CDN, no absolute URL: the page
// works without a network beyond the node.
func TestAssetsLoadNothingFromElsewhere(t *testing.T) {
	abs := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|import\s|https?://`)
	err := fs.WalkDir(assets, "assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(assets, path)
		if err != nil {
			return err
		}
		if m := abs.Find(b); m != nil {
			t.Errorf("%s loads from elsewhere: %q", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
