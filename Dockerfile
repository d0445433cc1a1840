# Steward: multi-stage build, non-root distroless runtime.
# Build: docker build -t steward .   (docker compose does this for you)

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so code changes do not refetch them.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Generated templ code is committed; the build does not need the templ tool.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/server ./cmd/server

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/server /usr/local/bin/server
USER nonroot:nonroot
# Inside a container the server must listen on all interfaces to be reachable
# through the published port; compose publishes it on the host's loopback only.
ENV STEWARD_ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/server"]
CMD ["serve"]
