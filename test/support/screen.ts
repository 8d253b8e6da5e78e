/** Reading the dashboard off a terminal's screen (tmux capture-pane). */

/** A framed box of the screen whose top border holds label: its label line and the lines inside its border. */
export function box(screen: string, label: RegExp): { title: string; lines: string[] } | null {
  const rows = screen.split('\n').map((l) => [...l]);
  for (let y = 0; y < rows.length; y++) {
    const line = rows[y].join('');
    const m = label.exec(line);
    if (!m) continue;
    const at = [...line.slice(0, m.index)].length;
    // the corners: Unicode, or the terminal's line drawing where the locale is not UTF-8 (l k m, lines of q)
    let left = at - 1;
    while (left >= 0 && /[─q ]/.test(rows[y][left]) && !/[┌l]/.test(rows[y][left])) left--;
    let right = at + [...m[0]].length;
    while (right < rows[y].length && !(/[┐k]/.test(rows[y][right]) && /^[┌l]?\s*$/.test(rows[y].slice(right + 1, right + 2).join('')))) right++;
    if (left < 0 || !/[┌l]/.test(rows[y][left]) || right >= rows[y].length) continue;
    const lines: string[] = [];
    for (let i = y + 1; i < rows.length && !/[└m]/.test(rows[i][left]); i++) lines.push(rows[i].slice(left + 1, right).join(''));
    return { title: rows[y].slice(left + 1, right).join(''), lines };
  }
  return null;
}
