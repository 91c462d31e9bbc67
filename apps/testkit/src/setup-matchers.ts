// `setupFiles: ['@polythene/testkit/matchers']` in a vitest config installs the matchers.
import { installPolytheneMatchers } from './polythene-matchers.ts';

installPolytheneMatchers();
