/**
 * Strip anything a terminal would interpret (escape sequences, control
 * characters) from strings that come from the kernel or a file, such as a comm.
 */
export function sanitize(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}
