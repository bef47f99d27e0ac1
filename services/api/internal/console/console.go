// Package console is the api's web console: a few static files (HTML,
// one script, one style sheet, an icon) embedded in the binary and served
// at / with a strict Content-Security-Policy. It works offline (no CDN,
// no external fonts) and talks to the api only through its public
// endpoints, with the api key as a bearer header (kept in the browser's
// sessionStorage, never a cookie, so cross-site requests carry nothing).
package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"path"

	"github.com/gofiber/fiber/v2"
)

//go:embed static
var static embed.FS

// Security headers of every console response. The policy admits only the
// console's own script and style sheet (no inline script or style, no
// eval), requests to the api itself, and no framing.
const (
	ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
		"connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	headerCSP = "Content-Security-Policy"
)

// file is one embedded file, ready to serve.
type file struct {
	body        []byte
	contentType string
	etag        string
}

// loadFiles returns the console's files by URL path ("/" and "/console/…").
func loadFiles() (map[string]file, error) {
	files := map[string]file{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		f := file{body: b, contentType: mime.TypeByExtension(path.Ext(p)), etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		switch path.Ext(p) { // not every system's MIME table has these
		case ".js":
			f.contentType = "text/javascript; charset=utf-8"
		case ".css":
			f.contentType = "text/css; charset=utf-8"
		case ".html":
			f.contentType = "text/html; charset=utf-8"
		case ".svg":
			f.contentType = "image/svg+xml"
		}
		name := p[len("static"):]
		if name == "/index.html" {
			name = "/"
		} else {
			name = "/console" + name
		}
		files[name] = f
		return nil
	})
	return files, err
}

// Register serves the console: GET / is the page, GET /console/<file> its
// assets. Every answer carries the security headers; assets are
// revalidated by ETag (no-cache), so an upgraded api serves its own files.
func Register(app *fiber.App) error {
	files, err := loadFiles()
	if err != nil {
		return err
	}
	serve := func(c *fiber.Ctx) error {
		p := c.Path()
		f, ok := files[p]
		if !ok {
			return fiber.ErrNotFound
		}
		SecurityHeaders(c)
		c.Set(fiber.HeaderCacheControl, "no-cache")
		c.Set(fiber.HeaderETag, f.etag)
		c.Set(fiber.HeaderContentType, f.contentType)
		if c.Get(fiber.HeaderIfNoneMatch) == f.etag {
			return c.SendStatus(fiber.StatusNotModified)
		}
		return c.Send(f.body)
	}
	app.Get("/", serve)
	app.Get("/console/:file", serve)
	return nil
}

// SecurityHeaders sets the console's security headers on c's answer.
func SecurityHeaders(c *fiber.Ctx) {
	c.Set(headerCSP, ContentSecurityPolicy)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set("Cross-Origin-Opener-Policy", "same-origin")
}
