package exposure

import (
	"fmt"
	"io"
	"strings"
)

// WriteText explains one account for a person at a terminal: what it is,
// its exposure, each resource's verdict with the policies behind it, its
// exclusions and findings with what to do.
func WriteText(w io.Writer, a *Account) error {
	p := &printer{w: w}
	p.line("%s %s (%s)", a.Kind, clean(a.DisplayName), clean(a.UPN))
	p.line("  id:              %s", a.ID)
	p.line("  enabled:         %t", a.Enabled)
	p.line("  exposure:        %s", a.Exposure)
	if a.Workload != "" {
		p.line("  workload:        %s", a.Workload)
	}
	p.line("  service account: %s (score %d)", a.ServiceAccount.Level, a.ServiceAccount.Score)
	for _, s := range a.ServiceAccount.Signals {
		p.line("    - %s", clean(s.Detail))
	}
	if len(a.Privileged) > 0 {
		p.line("  admin roles:     %s", clean(strings.Join(a.Privileged, ", ")))
	}
	p.line("")
	p.line("Resources:")
	for _, r := range a.Resources {
		used := ""
		if r.Used {
			used = " [used]"
		}
		p.line("  %-12s %s%s", r.Verdict, clean(r.Name), used)
		p.line("               %s", clean(r.Reason))
		for _, pe := range r.Policies {
			line := fmt.Sprintf("               · %s: %s", clean(pe.Name), pe.Effect)
			if pe.Path != "" {
				line += " — " + clean(pe.Path)
			}
			if len(pe.Conditions) > 0 {
				line += " — " + clean(strings.Join(pe.Conditions, "; "))
			}
			p.line("%s", line)
		}
	}
	if len(a.Exclusions) > 0 {
		p.line("")
		p.line("Exclusions:")
		for _, e := range a.Exclusions {
			p.line("  %s (%s): %s", clean(e.PolicyName), e.State, clean(e.Path))
		}
	}
	p.line("")
	if len(a.Findings) == 0 {
		p.line("Findings: none")
	} else {
		p.line("Findings:")
		for _, f := range a.Findings {
			p.line("  [%s] %s: %s", f.Severity, f.Code, clean(f.Message))
			p.line("      → %s", clean(f.Remediation))
		}
	}
	return p.err
}

// WriteReport writes a whole evaluation as stable text, one block per
// account: the golden test's format, made to be read in a review.
func WriteReport(w io.Writer, e *Evaluation) error {
	p := &printer{w: w}
	p.line("tenant %s, evaluated at %s", e.TenantID, e.EvaluatedAt.UTC().Format("2006-01-02T15:04:05Z"))
	for _, n := range e.Notes {
		p.line("note: %s", n)
	}
	for _, a := range e.Accounts {
		p.line("")
		p.line("%s %s %q %s exposure=%s sa=%s", a.Kind, a.ID, clean(a.DisplayName), clean(a.UPN), a.Exposure, a.ServiceAccount.Level)
		if a.Workload != "" {
			p.line("  workload=%s", a.Workload)
		}
		var codes []string
		for _, s := range a.ServiceAccount.Signals {
			codes = append(codes, s.Code)
		}
		if len(codes) > 0 {
			p.line("  signals: %s", strings.Join(codes, ", "))
		}
		for _, r := range a.Resources {
			var ps []string
			for _, pe := range r.Policies {
				s := clean(pe.Name) + ":" + string(pe.Effect)
				if pe.Effect == EffectExcluded || pe.Path != "All users" && pe.Path != "" && pe.Effect != EffectNotTargeted {
					s += " (" + clean(pe.Path) + ")"
				}
				ps = append(ps, s)
			}
			p.line("  %-11s %s  %s", r.Verdict, clean(r.Name), strings.Join(ps, "; "))
		}
		for _, f := range a.Findings {
			p.line("  ! %s %s: %s", f.Severity, f.Code, clean(f.Message))
		}
	}
	return p.err
}

// clean keeps control characters out of a terminal: names come from the
// directory, where anyone who can rename an object can write anything.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			return '�'
		}
		return r
	}, s)
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) line(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format+"\n", args...)
	}
}
