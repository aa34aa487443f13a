/** A tiny indented-code builder for the emitter. */
export class Code {
  readonly lines: string[] = [];
  private ind = 0;
  private tmp = 0;

  line(s = ''): void {
    this.lines.push(s ? '  '.repeat(this.ind) + s : '');
  }
  open(s: string): void {
    this.line(s);
    this.ind++;
  }
  close(s = '}'): void {
    this.ind--;
    this.line(s);
  }
  /** A line between two blocks, e.g. `} else {`. */
  mid(s: string): void {
    this.ind--;
    this.line(s);
    this.ind++;
  }
  /** A fresh local name: the prefix and a number unique in the module. */
  temp(prefix: string): string {
    return `${prefix}${this.tmp++}`;
  }
  text(): string {
    return this.lines.join('\n');
  }
}
