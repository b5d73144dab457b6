// Command ceiling is the benchmark's reference point: a bare Fiber app whose
// only handler reads the request body and answers 200. It uses Fiber's defaults
// (plus hookscope's 10 MiB body limit), so the harness can report hookscope's capture as a share of
// what Fiber itself does on this machine.
//
// With -log DIR it is the durable ceiling instead: the handler appends the
// body to a capture log (ingest/caplog/disklog, ack=durable, the options
// hookscope uses) and answers 200 only once the group commit's fdatasync
// covers it; one consumer reads and commits the log, as hookscope's store
// writer does, so that retention frees it. That is the least any server
// pays that answers 2xx only for what is on disk on this machine: HTTP, one
// append, its share of an fdatasync and of one reader. No encoding, no
// store, no live feed, no alerts.
package main

import (
	"context"
	"flag"
	"log"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/hookscope/hookscope/ingest/caplog"
	"github.com/hookscope/hookscope/ingest/caplog/disklog"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	logDir := flag.String("log", "", "durable ceiling: append every body to a capture log in this directory before answering")
	flag.Parse()
	app := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		BodyLimit:             10 << 20,
	})
	if *logDir == "" {
		app.All("/*", func(c *fiber.Ctx) error {
			_ = c.Body() // read the whole body
			return c.SendStatus(fiber.StatusOK)
		})
		log.Fatal(app.Listen(*addr))
	}

	l, err := disklog.Open(*logDir, disklog.Options{Ack: disklog.AckDurable, Preallocate: true})
	if err != nil {
		log.Fatal(err)
	}
	cons, err := l.Consumer(context.Background(), "reader", caplog.ConsumerOptions{})
	if err != nil {
		log.Fatal(err)
	}
	go func() { // hookscope's store writer: a batch per 100 ms, then commit
		for {
			b, err := cons.Fetch(context.Background(), 1<<14)
			if err != nil {
				log.Fatal(err)
			}
			if err := cons.Commit(context.Background(), b); err != nil {
				log.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	app.Get("/h/ready", func(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusOK) })
	app.All("/*", func(c *fiber.Ctx) error {
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		if err := l.Append(c.Context(), caplog.Entry{Key: "ceiling", ID: id, Data: c.Body()}); err != nil {
			return c.SendStatus(fiber.StatusServiceUnavailable)
		}
		return c.SendStatus(fiber.StatusOK)
	})
	log.Fatal(app.Listen(*addr))
}
