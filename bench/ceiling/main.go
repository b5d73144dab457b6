// Command ceiling is the benchmark's reference point: a bare Fiber app whose
// only handler reads the request body and answers 200. It uses Fiber's defaults
// (plus hookscope's 10 MiB body limit), so the harness can report hookscope's capture as a share of
// what Fiber itself does on this machine.
package main

import (
	"flag"
	"log"

	"github.com/gofiber/fiber/v2"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	app := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		BodyLimit:             10 << 20,
	})
	app.All("/*", func(c *fiber.Ctx) error {
		_ = c.Body() // read the whole body
		return c.SendStatus(fiber.StatusOK)
	})
	log.Fatal(app.Listen(*addr))
}
