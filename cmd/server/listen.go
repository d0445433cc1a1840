package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Steward has no sign-in yet: whoever reaches its port reads every account,
// policy and sync run it holds. Until sign-in exists (DESIGN.md, security
// model: deny by default), serve and demo listen on loopback only and refuse
// any other address, with no switch to turn that off. The web layer adds the
// other half: it answers only requests naming a loopback host (DNS rebinding).

// lookupFunc resolves a host name to its addresses (net.DefaultResolver's
// LookupNetIP in production; a fixed table in tests).
type lookupFunc func(ctx context.Context, host string) ([]netip.Addr, error)

func lookupHost(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// loopbackAddr checks that addr (host:port, from STEWARD_ADDR or -addr) is on
// loopback and returns it with the host replaced by the loopback IP to listen
// on. A host name must resolve to loopback addresses only; listening on the
// literal it resolved to means a second lookup cannot answer differently.
// Among several addresses it prefers IPv4, as net.Listen does.
func loopbackAddr(ctx context.Context, lookup lookupFunc, addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return "", fmt.Errorf("STEWARD_ADDR %q is not host:port (e.g. 127.0.0.1:8080)", addr)
	}
	refuse := func(why string) error {
		return fmt.Errorf("STEWARD_ADDR %q %s. Steward has no sign-in yet, so it serves this machine only: "+
			"use 127.0.0.1:%s, [::1]:%s or localhost:%s (from another machine, through an SSH tunnel: "+
			"ssh -L %s:127.0.0.1:%s HOST)", addr, why, port, port, port, port, port)
	}
	if host == "" {
		return "", refuse("listens on every network interface")
	}
	ip, err := netip.ParseAddr(host)
	found := []netip.Addr{ip}
	literal := err == nil
	if !literal {
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		found, err = lookup(lctx, host)
		if err == nil && len(found) == 0 {
			err = errors.New("no addresses")
		}
		if err != nil {
			return "", refuse(fmt.Sprintf("cannot be checked: %s does not resolve (%v)", host, err))
		}
	}
	var ips []netip.Addr
	var bad []string
	for _, ip := range found {
		ip = ip.Unmap()
		switch {
		case ip.IsUnspecified():
			return "", refuse("listens on every network interface")
		case !ip.IsLoopback():
			bad = append(bad, ip.String())
		}
		ips = append(ips, ip)
	}
	switch {
	case len(bad) > 0 && literal:
		return "", refuse("is not a loopback address")
	case len(bad) > 0:
		return "", refuse(fmt.Sprintf("is not loopback only: %s resolves to %s", host, strings.Join(bad, ", ")))
	}
	pick := ips[0]
	for _, ip := range ips {
		if ip.Is4() {
			pick = ip
			break
		}
	}
	return net.JoinHostPort(pick.String(), port), nil
}

// listenLoopback listens on addr, which loopbackAddr has checked, and checks
// the socket it got once more: whatever the path to here, the UI is never
// served beyond this machine.
func listenLoopback(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (STEWARD_ADDR): %w", addr, err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		ln.Close()
		return nil, usageError{fmt.Errorf("STEWARD_ADDR %q: listening on %s, which is not loopback; refused", addr, ln.Addr())}
	}
	return ln, nil
}
