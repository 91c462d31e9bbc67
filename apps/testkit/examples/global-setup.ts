import { ensureTestImages } from '@polythene/test-images';

// In a real project the image would come from a registry; these examples use the local
// busybox image so they run offline.
export default async function setup(): Promise<void> {
  await ensureTestImages();
}
