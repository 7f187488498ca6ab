import * as fs from 'fs';
import * as path from 'path';

export const FIXTURES = path.join(__dirname, '..', 'fixtures', 'images');

/** Real image bytes of each sniffed format (see test/fixtures/images/README.md). */
export const images: Record<'jpeg' | 'png' | 'gif' | 'webp' | 'bmp' | 'tiff', Buffer> = {
  jpeg: fs.readFileSync(path.join(FIXTURES, 'gradient.jpg')),
  png: fs.readFileSync(path.join(FIXTURES, 'gradient.png')),
  gif: fs.readFileSync(path.join(FIXTURES, 'gradient.gif')),
  webp: fs.readFileSync(path.join(FIXTURES, 'gradient.webp')),
  bmp: fs.readFileSync(path.join(FIXTURES, 'gradient.bmp')),
  tiff: fs.readFileSync(path.join(FIXTURES, 'gradient.tiff')),
};
