import { ConfigError, parseConfig } from '../../src/config';

/** The lines of the ConfigError that parsing `text` must raise. */
export function configProblems(text: string): string[] {
  try {
    parseConfig(text, 'test.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message.split('\n');
  }
  throw new Error('expected a ConfigError');
}
