package web

import "net/http"

// MountForTest adds a route to a built server, behind all its middleware.
func (s *Server) MountForTest(method, pattern string, h http.HandlerFunc) {
	s.router.Method(method, pattern, h)
}
