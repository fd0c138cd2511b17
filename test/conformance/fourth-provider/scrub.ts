/** The loyalty provider's `scrub`: its `<token>` and `<pin>` are secret names already; card numbers anywhere. */
import { createScrub } from '../../../src/providers/index.ts';

export const SECRET_FIELDS = ['token', 'pin'];
export const scrub = createScrub({ extraFields: SECRET_FIELDS });
