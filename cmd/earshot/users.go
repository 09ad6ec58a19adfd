package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/bcrypt"
)

func (a *app) usersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "Users of the web inbox and the API (config: users)"}
	cmd.AddCommand(&cobra.Command{
		Use:   "hash",
		Short: "Read a password from stdin (one line) and print its bcrypt hash for users[].password_hash",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			line, err := bufio.NewReader(io.LimitReader(cmd.InOrStdin(), 1<<10)).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("users hash: read password: %w", err)
			}
			pw := strings.TrimRight(line, "\r\n")
			if len(pw) < 8 {
				return usagef("users hash: the password must have at least 8 characters")
			}
			if len(pw) > 72 {
				return usagef("users hash: bcrypt uses at most 72 bytes of a password")
			}
			h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
			if err != nil {
				return fmt.Errorf("users hash: %w", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(h))
			return nil
		},
	})
	return cmd
}
